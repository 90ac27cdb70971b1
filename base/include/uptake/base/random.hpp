#pragma once
// Seeded, reproducible random numbers for everything stochastic in uptake.
// xoshiro256++ (Blackman and Vigna): small state, fast, passes BigCrush; seeded through
// splitmix64 so that nearby seeds give unrelated streams. Not for cryptography.
#include <cmath>
#include <cstdint>

namespace uptake {

inline std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Random {
 public:
  using result_type = std::uint64_t;
  explicit Random(std::uint64_t seed) noexcept {
    for (auto& word : state_) word = splitmix64(seed);
  }

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~result_type{0}; }

  result_type operator()() noexcept {
    const std::uint64_t result = rotl(state_[0] + state_[3], 23) + state_[0];
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in (0, 1]: never 0, so that -log(u) is always finite.
  double uniform_open_zero() noexcept { return (static_cast<double>((*this)() >> 11) + 1.0) * 0x1.0p-53; }
  // Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  // Exponential with mean 1.
  double exponential() noexcept { return -std::log(uniform_open_zero()); }
  // Standard normal, by Box-Muller. Both uniforms are drawn on every call (no cached second
  // value), so a stream's position depends only on how many draws came before.
  double normal() noexcept {
    const double radius = std::sqrt(-2.0 * std::log(uniform_open_zero()));
    return radius * std::cos(6.283185307179586 * uniform());
  }
  // Chi-squared with `degrees` degrees of freedom, as a sum of squared normals: the degrees of
  // freedom here are those of a short history, a handful, so the sum is cheaper than a gamma draw.
  double chi_squared(int degrees) noexcept {
    double sum = 0;
    for (int i = 0; i < degrees; ++i) {
      const double z = normal();
      sum += z * z;
    }
    return sum;
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4];
};

}  // namespace uptake
