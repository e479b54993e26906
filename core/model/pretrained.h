// Model folders built from pretrained parts, offline, from folders on disk:
//  - import_hf: a Hugging Face BERT-family folder as the encoder and a GPT-2 folder as the
//    decoder, assembled as DMLP's recipe does (the extra first block, the latent
//    projections, the added <PAD>/<BOS>/<EOS> rows and the noise network are fresh);
//    latent-cli import-hf gives it DMLP's training settings (dmlp_finetune());
//  - import_dmlp: a DMLP-trained VAE_DDPM exported by tools/dmlp/convert_checkpoint.py
//    (encoder/decoder/eps_model safetensors with DMLP's names + dmlp.json), with the
//    tokenizers of the Hugging Face folders the run started from.
// Both give a model whose tokenizers are the pretrained ones (config model.tokenizer.type
// "pretrained"): save_model writes them as encoder_tokenizer/ and decoder_tokenizer/.
#pragma once

#include <string>
#include <vector>

#include "model/config.h"
#include "model/vae_ddpm.h"
#include "text/codec.h"

namespace latent {

struct ImportedModel {
  Config config;
  Tokenizers tokenizers;
  VaeDdpm model{nullptr};
  std::vector<std::string> warnings;  // tensors ignored, head bias, ...
};

// The training settings of DMLP's recipe on top of `c`: Adam, lr 9e-5, eps 1e-5, the
// "dmlp" trainable filter (names with linear, wte, decoder.transformer.h.0, encoder, and
// the noise network), polynomial decay of power 3 (spec section 6).
void dmlp_finetune(TrainConfig& c);

// `base` supplies what the folders do not fix (latent size, noise network, diffusion,
// max_length) and the train section, as it is (dmlp_finetune gives DMLP's); encoder and
// decoder shapes come from the folders' config.json. max_length is lowered to fit both
// models' positions when needed.
ImportedModel import_hf(const std::string& bert_dir, const std::string& gpt2_dir, const Config& base);

// export_dir: what tools/dmlp/convert_checkpoint.py wrote; bert_dir and gpt2_dir: the
// Hugging Face folders the DMLP run started from (their tokenizers and config.json).
// Every tensor comes from the export; sizes and special ids are checked against dmlp.json.
ImportedModel import_dmlp(const std::string& export_dir, const std::string& bert_dir, const std::string& gpt2_dir);

// A trained model shipped as what training changed (tools/default_model/make_delta.py):
// every tensor of the safetensors file at `path` replaces the model's parameter or buffer of
// the same name, cast to its dtype. All are checked first (unknown names, wrong shapes,
// non-finite values give one Error naming them), so a bad file changes nothing. Returns
// the number of tensors applied.
int apply_delta(VaeDdpmImpl& model, const std::string& path);

}  // namespace latent
