#pragma once
// report.html: one self-contained page that opens offline (uPlot, its script, its style and the
// data are all inline; nothing is fetched), readable in light and dark. It holds a summary
// table, the SLO verdicts (summary.json's thresholds[]) and these charts:
//   demand-N          history, fitted model and projection with its prediction interval, one per
//                     series of the forecast (only with a forecast)
//   rate              planned, sent and completed requests per second
//   latency-NAME      p50/p90/p99 response time per second, for the run and each endpoint
//   distribution      response and service time by percentile on an HdrHistogram-style axis
//                     (x = 1/(1-q) on a log scale, labelled 50%, 90%, 99%, 99.9%, ...)
//   errors            errors per second, for the run and each endpoint
//   capacity          offered against achieved rate and p99 per step (only when summary.json
//                     has capacity.steps[], each with offered_rps, achieved_rps, p99_ms)
// Each chart is a <figure class="chart" data-chart="ID">; the page's script sets its
// data-points attribute and window.__reportStatus = {ready, charts: {ID: points}, errors}.
// Everything taken from the data is escaped: text in HTML, and the data island's JSON so that no
// string ("</script>" in a scenario name) can end its script element.
#include <string>
#include <string_view>

#include "uptake/reports/results_dir.hpp"

namespace uptake::reports {

// The demand charts come from results.forecast (the folder's forecast.json), when there is one.
std::string render_html_report(const RunResults& results);

// Text for an HTML text node or a quoted attribute value.
std::string escape_html(std::string_view text);

}  // namespace uptake::reports
