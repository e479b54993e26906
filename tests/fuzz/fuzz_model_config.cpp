// Our config.json as `latent-cli` and the studio's Open model read it (load_model): the
// configuration, the family registry's keys and checks, the allocation budget that the
// weights set (util/alloc_budget.h), then the weights by name and shape. The weights and
// tokenizers are those of a tiny model imported once from the test fixtures (BERT + GPT-2,
// preset tiny), so a config.json that matches them loads.
#include <cstdint>

#include "model/config.h"
#include "model/model_io.h"
#include "model/pretrained.h"
#include "torch_fixtures.h"

namespace {

const std::string& base_model() {
  static latent::fuzz::Scratch base;
  static const bool made = [] {
    latent::Config c = latent::preset("tiny");
    latent::dmlp_finetune(c.train);
    latent::ImportedModel m = latent::import_hf(latent::fuzz::fixture("dmlp/trained/bert"),
                                                latent::fuzz::fixture("dmlp/trained/gpt2"), c);
    latent::save_model(base.dir() + "/model", m.config, m.tokenizers, m.model);
    return true;
  }();
  (void)made;
  static const std::string dir = base.dir() + "/model";
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& base = base_model();
  static latent::fuzz::Scratch scratch;
  scratch.clear();
  const auto files = latent::fuzz::split_files(data, size, {"config.json"});
  latent::fuzz::link_folder(base, scratch.dir(), "config.json");
  scratch.write("config.json", files.empty() ? std::string() : files.front().second);
  latent::fuzz::expect_clean([&] {
    latent::LoadedModel m = latent::load_model(scratch.dir());
    latent::validate(m.config, "loaded");  // what loaded is a valid configuration
  });
  return 0;
}
