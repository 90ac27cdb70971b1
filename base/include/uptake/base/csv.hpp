#pragma once
// CSV as RFC 4180 writes it: fields separated by commas, records by CRLF or LF, fields with
// commas, quotes or line breaks enclosed in double quotes, a quote inside doubled (""). The first
// record names the columns. Used for the scenario's feeders and for reading results back.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace uptake {

// The cells are held compactly: their text one after another in one string, and where each
// ends. A feeder of millions of short ids would otherwise cost a std::string (32 bytes, and a
// heap block beyond 15 characters) per cell, several times the file.
class CsvTable {
 public:
  std::vector<std::string> columns;
  std::vector<int> row_lines;           // 1-based line where each row starts, for messages

  std::size_t rows() const { return row_lines.size(); }
  std::size_t cell_count() const { return cell_ends_.size(); }
  // Valid while the table lives.
  std::string_view at(std::size_t row, std::size_t column) const { return cell(row * columns.size() + column); }
  std::string_view cell(std::size_t index) const {
    const std::size_t begin = index == 0 ? 0 : cell_ends_[index - 1];
    return std::string_view(cell_text_).substr(begin, cell_ends_[index] - begin);
  }

 private:
  friend CsvTable parse_csv(std::string_view text, const std::string& file);
  std::string cell_text_;                 // every cell's unquoted text, row-major, without separators
  std::vector<std::uint32_t> cell_ends_;  // where each cell ends in cell_text_
};

// Parses `text`; `file` names it in errors. Throws InputError (file:line:column) for an
// unterminated quote, a quote inside an unquoted field, text after a closing quote, a row whose
// field count differs from the header's, an empty or duplicate column name, no header, or text
// of 4 GiB or more. A UTF-8 byte order mark at the start is skipped (spreadsheets write one); a
// final line break is optional; blank lines are skipped.
CsvTable parse_csv(std::string_view text, const std::string& file);

// Reads and parses a file; a missing file, or one that is not a regular file (a FIFO, a
// device), is an InputError too.
CsvTable read_csv(const std::string& path);

}  // namespace uptake
