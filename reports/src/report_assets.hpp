#pragma once
// The files that report.html inlines, compiled in so that every report is one file that opens
// offline: uPlot (https://github.com/leeoniya/uPlot, MIT licence, copyright Leon Sorokin), from
// the npm package pinned by tools/package-lock.json, and the page's own script and style
// (reports/src/report.js, reports/src/report.css).
#include <string_view>

namespace uptake::reports {

std::string_view uplot_version();  // "1.6.32"
std::string_view uplot_script();   // dist/uPlot.iife.min.js: defines the global uPlot
std::string_view uplot_style();    // dist/uPlot.min.css
std::string_view report_script();  // builds the charts from the page's data island
std::string_view report_style();   // light and dark colours, layout

}  // namespace uptake::reports
