// The options every command on a trained model shares: --model, --device, --json and the
// decoding settings, and opening the model as a Generator.
#pragma once

#include <ATen/Context.h>
#include <CLI/CLI.hpp>

#include <string>

#include "infer/generator.h"
#include "model/model_io.h"
#include "util/error.h"

namespace latent::cli {

struct ModelArgs {
  std::string model, device = "cpu";
  std::string dir;  // the folder open() loaded (a run folder resolves to its best/)
  DecodeOptions decode;
  bool sample = false, json = false;
  uint64_t seed = 0;

  void add(CLI::App* cmd, bool decoding = true) {
    cmd->add_option("--model", model, "Model folder (or a run folder: its best/)")->required();
    cmd->add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
    cmd->add_flag("--json", json, "Print one JSON object");
    if (!decoding) return;
    cmd->add_flag("--sample", sample, "Sample tokens instead of greedy decoding");
    cmd->add_option("--temperature", decode.temperature, "Sampling temperature")->check(CLI::PositiveNumber);
    cmd->add_option("--top-k", decode.top_k, "Sample among the k most likely tokens (0: off)")->check(CLI::NonNegativeNumber);
    cmd->add_option("--top-p", decode.top_p, "Nucleus sampling mass (1: off)")->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--seed", seed, "Seed for sampling");
    cmd->add_option("--repetition-penalty", decode.repetition_penalty,
                    "Divide the probability of tokens already in the sentence by this (DAVAE's; 1: off)")
        ->check(CLI::PositiveNumber);
  }
  Generator open() {
    if (device == "cuda" && !at::hasCUDA()) throw Error("--device cuda", "CUDA is not available on this machine");
    LoadedModel lm = load_model(model);
    dir = lm.dir;
    return Generator(lm.model, lm.tokenizers, device == "cuda" ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU));
  }
  DecodeOptions options() const {
    DecodeOptions o = decode;
    o.strategy = sample ? "sample" : "greedy";
    o.seed = seed;
    return o;
  }
};

}  // namespace latent::cli
