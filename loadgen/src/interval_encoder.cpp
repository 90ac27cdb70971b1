#include "interval_encoder.hpp"

#include "uptake/loadgen/histogram_log.hpp"

namespace uptake::loadgen {

IntervalEncoder::IntervalEncoder(std::vector<HdrHistogram> blank) : blank_(std::move(blank)), thread_([this] { work(); }) {
  spare_.push_back(blank_);
}

IntervalEncoder::~IntervalEncoder() { finish(); }

void IntervalEncoder::submit(std::size_t second, std::vector<HdrHistogram>& filled) {
  std::vector<HdrHistogram> empty;
  {
    const std::lock_guard lock(mutex_);
    if (!spare_.empty()) {
      empty = std::move(spare_.back());
      spare_.pop_back();
    }
    jobs_.push_back({second, std::move(filled)});
  }
  wake_.notify_one();
  filled = empty.empty() ? blank_ : std::move(empty);
}

std::vector<IntervalEncoder::Second> IntervalEncoder::finish() {
  {
    const std::lock_guard lock(mutex_);
    if (closing_ && !thread_.joinable()) return {};
    closing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  return std::move(encoded_);
}

void IntervalEncoder::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return closing_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // closing, and everything is encoded
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    Second second{job.second, std::vector<std::string>(job.histograms.size())};
    for (std::size_t series = 0; series < job.histograms.size(); ++series) {
      auto& histogram = job.histograms[series];
      if (histogram.total_count() == 0) continue;
      if (series == 0) last_second_p99_ns_.store(histogram.value_at_percentile(99), std::memory_order_relaxed);
      // A fast zlib level: the interval log re-encodes at level 9 when it is written.
      second.series[series] = encode_compressed(histogram, 1);
      histogram.reset();
    }
    encoded_.push_back(std::move(second));  // only this thread touches encoded_ until finish()
    lock.lock();
    spare_.push_back(std::move(job.histograms));
  }
}

}  // namespace uptake::loadgen
