// The one sentence that says what a replay stands for, as the reports and `uptake run` print it.
#include <catch2/catch.hpp>

#include "reports/synthetic_run.hpp"
#include "uptake/reports/replay_text.hpp"

using namespace uptake;

TEST_CASE("a day compressed and scaled: the window, both factors, and the modelled rates beside the planned ones") {
  const auto replay = test::replay_of_a_day();
  CHECK(reports::replay_sentence(replay) ==
        "Replays 2027-03-31 00:00–24:00 (+09:00) compressed ×7200 into 12 s at scale 0.02: 144× the modelled real-world rate; "
        "modelled mean 5.05/s and peak 12.59/s real-world ⇒ 727.2/s and 1,813/s planned");
  CHECK(reports::replay_sentence(replay, 4) ==
        reports::replay_sentence(replay) + " (this shard sends 1 in 4 of those requests)");
  CHECK(reports::replay_events_text(replay) == "deadline-day ×3 2027-03-31 09:00–18:00");
  CHECK(reports::local_time_text(replay, replay.from + 3600 * 9.5 + 30) == "2027-03-31 09:30:30");
}

TEST_CASE("a peak hour in real time, an interval across midnight, and a day on which the clock changes") {
  auto peak = test::replay_of_a_day();
  peak.window = sim::ReplayWindowKind::peak_hour;
  peak.year = 2027;
  peak.from += 10 * 3600;
  peak.to = peak.from + 3600;
  peak.duration = Seconds{3600};
  peak.scale = 1;
  peak.modelled_mean_rps = peak.modelled_peak_rps = 12.59;
  peak.events.clear();
  CHECK(reports::replay_sentence(peak) ==
        "Replays the peak hour of 2027, 2027-03-31 10:00–11:00 (+09:00), in real time (1h 00m) at scale 1: 1× the modelled real-world rate; "
        "modelled 12.59/s real-world ⇒ 12.59/s planned");

  auto night = peak;
  night.window = sim::ReplayWindowKind::interval;
  night.year.reset();
  night.from = test::replay_of_a_day().from - 2 * 3600;  // 22:00 local the day before
  night.to = night.from + 4.5 * 3600;
  night.duration = Seconds{90};
  night.scale = 0.5;
  CHECK(reports::replay_sentence(night) ==
        "Replays 2027-03-30 22:00 – 2027-03-31 02:30 (+09:00) compressed ×180 into 90 s at scale 0.5: 90× the modelled real-world rate; "
        "modelled 12.59/s real-world ⇒ 1,133/s planned");

  sim::ReplayContext berlin;
  berlin.window = sim::ReplayWindowKind::day;
  berlin.from = 1'679'785'200;  // 2023-03-25T23:00:00Z: local midnight of the 26th
  berlin.to = berlin.from + 23 * 3600;
  berlin.time_zone = "Europe/Berlin";
  berlin.utc_offset_seconds = 3600;
  berlin.clock_changes = {{1'679'792'400, 7200}};
  berlin.duration = Seconds{23};
  berlin.scale = 1;
  berlin.modelled_mean_rps = 1;
  berlin.modelled_peak_rps = 2;
  CHECK(reports::time_zone_text(berlin) == "Europe/Berlin, +01:00 to +02:00");
  CHECK_THAT(reports::replay_sentence(berlin), Catch::StartsWith("Replays 2023-03-26 00:00–24:00 (Europe/Berlin, +01:00 to +02:00) compressed ×3600 into 23 s"));
  CHECK(reports::local_time_text(berlin, 1'679'792'400 - 1) == "2023-03-26 01:59:59");
  CHECK(reports::local_time_text(berlin, 1'679'792'400) == "2023-03-26 03:00");
}
