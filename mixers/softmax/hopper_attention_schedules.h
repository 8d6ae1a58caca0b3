// The Hopper attention forward's schedules as its GPU tests run them (test_gpu_softmax_hopper.cpp,
// test_gpu_masked_hopper.cpp): in order or overlapped, each with or without ping-pong, one CTA per
// query tile or persistent; persistent both with as many CTAs as fit (the tests' small grids then
// give each CTA one tile or two) and with 3 CTAs, so each CTA runs many tiles back to back and its
// ring phases, Q buffers and turns wrap around many times.
#pragma once
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "mixers/softmax/softmax_attention_hopper.cuh"

namespace seqbench::testing {

inline std::vector<HopperAttentionOptions> hopper_forward_schedules(bool causal, int64_t sinks = 0,
                                                                    int64_t window = 0) {
  std::vector<HopperAttentionOptions> out;
  for (int persistent_ctas : {-1, 0, 3})  // -1: one CTA per tile
    for (bool pingpong : {false, true})
      for (bool overlap : {false, true}) {
        HopperAttentionOptions o;
        o.causal = causal;
        o.sinks = sinks;
        o.window = window;
        o.pingpong = pingpong;
        o.overlap = overlap;
        o.persistent = persistent_ctas >= 0;
        o.persistent_ctas = persistent_ctas > 0 ? persistent_ctas : 0;
        out.push_back(o);
      }
  return out;
}

inline std::string describe_hopper_schedule(const HopperAttentionOptions& o) {
  std::ostringstream text;
  text << "ping-pong " << o.pingpong << ", overlap " << o.overlap;
  if (o.persistent)
    text << ", persistent on " << (o.persistent_ctas > 0 ? std::to_string(o.persistent_ctas) : "all") << " CTAs";
  return text.str();
}

}  // namespace seqbench::testing
