// CSV files come from scenario authors (feeders) and from results read back.
#include <string>

#include "entries.hpp"
#include "uptake/base/csv.hpp"
#include "uptake/base/input_error.hpp"

namespace uptake::fuzz {

void csv(std::string_view input) {
  try {
    const auto table = parse_csv(input, "fuzz.csv");
    fuzz_require(!table.columns.empty(), "a parsed table has a header");
    fuzz_require(table.cell_count() == table.rows() * table.columns.size(), "every row has as many cells as the header has columns");
    fuzz_require(table.row_lines.size() == table.rows(), "every row knows its line");
    for (std::size_t row = 1; row < table.row_lines.size(); ++row) {
      fuzz_require(table.row_lines[row] > table.row_lines[row - 1], "rows start on increasing lines");
    }
    std::size_t cell_bytes = 0;
    for (std::size_t cell = 0; cell < table.cell_count(); ++cell) cell_bytes += table.cell(cell).size();
    for (const auto& column : table.columns) cell_bytes += column.size();
    fuzz_require(cell_bytes <= input.size(), "cells hold no more bytes than the input");
  } catch (const InputError&) {
  }
}

}  // namespace uptake::fuzz
