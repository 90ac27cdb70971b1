#pragma once
// What a replay stands for, in words: one sentence that report.html, report.md and `uptake run`
// all print, so that a run's rate can be read against the forecast's.
#include <cstdint>
#include <string>

#include "uptake/sim/replay_context.hpp"

namespace uptake::reports {

// "Replays 2027-03-31 00:00–24:00 (+09:00) compressed ×7200 into 12 s at scale 0.02: 144× the
// modelled real-world rate; modelled mean 5.05/s and peak 12.59/s real-world ⇒ 727.2/s and
// 1,813/s planned". A shard's results (shard_count > 1, not merged) add what share it sent.
std::string replay_sentence(const sim::ReplayContext& replay, std::uint32_t shard_count = 1);

// The events in the window, in local time: "deadline-day ×3 09:00–18:00"; "" without any.
std::string replay_events_text(const sim::ReplayContext& replay);

// The local wall-clock time of real instant t of the window: "2027-03-31 09:00" (with ":SS"
// when it has seconds).
std::string local_time_text(const sim::ReplayContext& replay, double t);

// The offset (or offsets, when the clock changes in the window) and the zone's name when it is
// not an offset: "+09:00", "UTC", "Europe/Berlin, +01:00 to +02:00".
std::string time_zone_text(const sim::ReplayContext& replay);

}  // namespace uptake::reports
