#pragma once
// Compresses each second's response-time histograms on a thread of its own. Encoding one
// histogram takes about 0.3 ms; done on the I/O thread at every second boundary it delayed the
// sends due then by that much per series (the whole run and each endpoint), which showed as
// schedule lag. The I/O thread now only swaps its filled set for an empty one, once a second.
//
// Threads: submit() and last_second_p99_ns() from the I/O thread; finish() once, after the I/O
// thread is done with submit(). The encoder's own thread touches nothing else.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "uptake/loadgen/hdr_histogram.hpp"

namespace uptake::loadgen {

class IntervalEncoder {
 public:
  // One encoded second: its index and, per series, the V2-compressed histogram ("" when empty).
  struct Second {
    std::size_t second = 0;
    std::vector<std::string> series;
  };

  // `blank`: a set of empty histograms, one per series, with the run's configuration.
  explicit IntervalEncoder(std::vector<HdrHistogram> blank);
  ~IntervalEncoder();
  IntervalEncoder(const IntervalEncoder&) = delete;
  IntervalEncoder& operator=(const IntervalEncoder&) = delete;

  // Takes `filled` (the histograms of `second`) for encoding and leaves an empty set in its
  // place. Allocates only when the encoder has fallen two seconds behind.
  void submit(std::size_t second, std::vector<HdrHistogram>& filled);
  // Response time p99 of series 0 in the last second encoded (0 before the first).
  std::int64_t last_second_p99_ns() const { return last_second_p99_ns_.load(std::memory_order_relaxed); }
  // Waits for every submitted second to be encoded, stops the thread, and hands them over in
  // the order submitted.
  std::vector<Second> finish();

 private:
  struct Job {
    std::size_t second = 0;
    std::vector<HdrHistogram> histograms;
  };
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;                          // submitted, not yet encoded
  std::vector<std::vector<HdrHistogram>> spare_;  // emptied sets, ready to swap in
  std::vector<HdrHistogram> blank_;
  std::vector<Second> encoded_;
  bool closing_ = false;
  std::atomic<std::int64_t> last_second_p99_ns_{0};
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace uptake::loadgen
