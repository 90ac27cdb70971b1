#include "uptake/reports/text_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace uptake::reports {
namespace {

// Display width in code points, so that "µs" and "²" do not skew the columns.
std::size_t display_width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

TextTable::TextTable(std::vector<std::string> headers, std::vector<Align> alignment)
    : headers_(std::move(headers)), alignment_(std::move(alignment)) {
  alignment_.resize(headers_.size(), Align::right);
}

void TextTable::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string TextTable::render(int indent) const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = display_width(headers_[c]);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  const std::string margin(static_cast<std::size_t>(indent), ' ');
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text = margin;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(widths[c] - display_width(cells[c]), ' ');
      text += alignment_[c] == Align::left ? cells[c] + pad : pad + cells[c];
      if (c + 1 < cells.size()) text += "  ";
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text + "\n";
  };
  std::string out = line(headers_);
  std::size_t total = 0;
  for (auto width : widths) total += width + 2;
  out += margin + std::string(total > 2 ? total - 2 : 0, '-') + "\n";
  for (const auto& row : rows_) out += line(row);
  return out;
}

std::string group_thousands(double value, int decimals) {
  if (!std::isfinite(value)) return "—";
  std::string digits = fmt::format("{:.{}f}", std::abs(value), decimals);
  const auto point = digits.find('.');
  std::string whole = digits.substr(0, point);
  const std::string fraction = point == std::string::npos ? "" : digits.substr(point);
  for (int at = static_cast<int>(whole.size()) - 3; at > 0; at -= 3) whole.insert(static_cast<std::size_t>(at), ",");
  return (value < 0 && std::abs(value) >= 0.5 * std::pow(10.0, -decimals) ? "-" : "") + whole + fraction;
}

std::string signed_percent(double fraction) {
  if (!std::isfinite(fraction)) return "—";
  return fmt::format("{:+.1f}%", fraction * 100.0);
}

std::string readable_number(double value) {
  if (!std::isfinite(value)) return "—";
  const double magnitude = std::abs(value);
  if (magnitude >= 1000) return group_thousands(value);
  if (magnitude >= 100) return fmt::format("{:.1f}", value);
  if (magnitude >= 1) return fmt::format("{:.2f}", value);
  return fmt::format("{:.3g}", value);
}

}  // namespace uptake::reports
