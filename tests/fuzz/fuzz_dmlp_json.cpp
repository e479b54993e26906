// DMLP's dmlp.json (written by tools/dmlp/convert_checkpoint.py) as `latent-cli
// import-dmlp` reads it (import_dmlp): class names, sizes, special ids, file names, then
// the model within the budget the weights set and every tensor by name and shape. The
// tensors and the BERT and GPT-2 folders are the test fixture's (a tiny trained DMLP run).
#include <cstdint>

#include "model/config.h"
#include "model/pretrained.h"
#include "torch_fixtures.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static latent::fuzz::Scratch scratch;
  scratch.clear();
  const auto files = latent::fuzz::split_files(data, size, {"dmlp.json"});
  latent::fuzz::link_folder(latent::fuzz::fixture("dmlp/trained/export"), scratch.dir(), "dmlp.json");
  scratch.write("dmlp.json", files.empty() ? std::string() : files.front().second);
  latent::fuzz::expect_clean([&] {
    const latent::ImportedModel m = latent::import_dmlp(scratch.dir(), latent::fuzz::fixture("dmlp/trained/bert"),
                                                        latent::fuzz::fixture("dmlp/trained/gpt2"));
    latent::validate(m.config, "imported");
  });
  return 0;
}
