#include "uptake/base/csv.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>

#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"

namespace uptake {

CsvTable parse_csv(std::string_view text, const std::string& file) {
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
  // Cell ends are 32-bit offsets into the text, which is no longer than the input.
  if (text.size() >= std::numeric_limits<std::uint32_t>::max()) {
    throw InputError({file, 0, 0}, "", "is 4 GiB or larger", "a CSV file under 4 GiB");
  }
  CsvTable table;
  table.cell_text_.reserve(text.size());  // never more than the input: no growth by doubling
  std::vector<std::string> record;
  std::string field;
  int line = 1;
  int column = 1;
  int record_line = 1;
  std::size_t at = 0;
  auto fail = [&](const std::string& problem, const std::string& expected) {
    throw InputError({file, line, column}, "", problem, expected);
  };
  auto finish_record = [&] {
    const bool blank = record.size() == 1 && record[0].empty();
    if (blank) {
      record.clear();
      return;
    }
    if (table.columns.empty()) {
      for (std::size_t i = 0; i < record.size(); ++i) {
        if (record[i].empty()) throw InputError({file, record_line, 0}, fmt::format("column {}", i + 1), "has no name", "a header line naming every column");
        if (std::count(record.begin(), record.begin() + static_cast<long>(i), record[i])) {
          throw InputError({file, record_line, 0}, record[i], "names a column twice", "distinct column names");
        }
      }
      table.columns = std::move(record);
    } else {
      if (record.size() != table.columns.size()) {
        throw InputError({file, record_line, 0}, "", fmt::format("has {} field{}", record.size(), record.size() == 1 ? "" : "s"),
                         fmt::format("{} fields, as the header line names: {}", table.columns.size(), fmt::join(table.columns, ",")));
      }
      table.row_lines.push_back(record_line);
      for (const auto& cell : record) {
        table.cell_text_ += cell;
        table.cell_ends_.push_back(static_cast<std::uint32_t>(table.cell_text_.size()));
      }
    }
    record.clear();
  };

  while (at <= text.size()) {
    // At the start of a field.
    field.clear();
    if (at < text.size() && text[at] == '"') {
      ++at, ++column;
      for (;;) {
        if (at >= text.size()) fail("has a quoted field without its closing quote", "a '\"' that closes the field");
        const char c = text[at++];
        if (c == '"') {
          ++column;
          if (at < text.size() && text[at] == '"') {
            field += '"';
            ++at, ++column;
            continue;
          }
          break;
        }
        field += c;
        if (c == '\n') ++line, column = 1;
        else ++column;
      }
      if (at < text.size() && text[at] != ',' && text[at] != '\n' && text[at] != '\r') {
        fail("has text after a closing quote", "a comma or the end of the line after a quoted field");
      }
    } else {
      while (at < text.size() && text[at] != ',' && text[at] != '\n' && text[at] != '\r') {
        if (text[at] == '"') fail("has a quote inside an unquoted field", "the whole field in quotes, with inner quotes doubled (\"\")");
        field += text[at++];
        ++column;
      }
    }
    record.push_back(field);
    if (at >= text.size()) {
      finish_record();
      break;
    }
    const char separator = text[at++];
    if (separator == ',') {
      ++column;
      continue;
    }
    if (separator == '\r' && at < text.size() && text[at] == '\n') ++at;
    finish_record();
    ++line;
    column = 1;
    record_line = line;
    if (at == text.size()) break;
  }
  if (table.columns.empty()) throw InputError({file, 1, 1}, "", "is empty", "a header line naming the columns, then one line per row");
  return table;
}

CsvTable read_csv(const std::string& path) { return parse_csv(read_whole_file(path, "a CSV file"), path); }

}  // namespace uptake
