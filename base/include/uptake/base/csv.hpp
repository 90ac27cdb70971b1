#pragma once
// CSV as RFC 4180 writes it: fields separated by commas, records by CRLF or LF, fields with
// commas, quotes or line breaks enclosed in double quotes, a quote inside doubled (""). The first
// record names the columns. Used for the scenario's feeders and for reading results back.
#include <string>
#include <string_view>
#include <vector>

namespace uptake {

struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::string> cells;       // row-major: rows() * columns.size()
  std::vector<int> row_lines;           // 1-based line where each row starts, for messages
  std::size_t rows() const { return columns.empty() ? 0 : cells.size() / columns.size(); }
  const std::string& at(std::size_t row, std::size_t column) const { return cells[row * columns.size() + column]; }
};

// Parses `text`; `file` names it in errors. Throws InputError (file:line:column) for an
// unterminated quote, a quote inside an unquoted field, text after a closing quote, a row whose
// field count differs from the header's, an empty or duplicate column name, or no header.
// A final line break is optional; blank lines are skipped.
CsvTable parse_csv(std::string_view text, const std::string& file);

// Reads and parses a file; a missing or unreadable file is an InputError too.
CsvTable read_csv(const std::string& path);

}  // namespace uptake
