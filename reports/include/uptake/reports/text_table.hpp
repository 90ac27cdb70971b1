#pragma once
// Plain-text tables for the terminal: columns sized to their widest cell, numbers right-aligned.
#include <string>
#include <vector>

namespace uptake::reports {

class TextTable {
 public:
  enum class Align { left, right };

  explicit TextTable(std::vector<std::string> headers, std::vector<Align> alignment = {});
  void add_row(std::vector<std::string> cells);
  // The table with a rule under the header, each line indented by `indent` spaces.
  std::string render(int indent = 2) const;

 private:
  std::vector<std::string> headers_;
  std::vector<Align> alignment_;
  std::vector<std::vector<std::string>> rows_;
};

// 8099791 -> "8,099,791"; fractional values keep `decimals` digits.
std::string group_thousands(double value, int decimals = 0);
// 2.81 -> "+281.0%"
std::string signed_percent(double fraction);
// Numbers across many magnitudes in 4 significant figures: 0.257, 12.13, 3,840, 1.2e+09 stays grouped.
std::string readable_number(double value);

}  // namespace uptake::reports
