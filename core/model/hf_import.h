// Hugging Face model folders (config.json + model.safetensors) as parts of a VaeDdpm. The
// folder's config.json model_type picks the family (model/family.h), whose entry maps the
// configuration and loads the weights by name. pytorch_model.bin is not read here:
// convert it with tools/hf/convert_bin_to_safetensors.py.
#pragma once

#include <string>
#include <vector>

#include "model/config.h"
#include "model/family.h"

namespace latent {

// DIR/config.json's model_type and vocab_size; errors name the file and the key.
std::string hf_model_type(const std::string& dir);
int hf_vocab_size(const std::string& dir);

// The family that reads DIR (by model_type) and DIR's shapes on top of `base` (pooling,
// dropout, the latent switches and the extra first block keep base's values). The
// result's arch is the family's.
EncoderConfig hf_encoder_config(const std::string& dir, const EncoderConfig& base = {});
DecoderConfig hf_decoder_config(const std::string& dir, const DecoderConfig& base = {});

// Copies DIR/model.safetensors into the part. Every tensor it needs must be there with the
// right shape (else one error listing them); the latent projections (and the decoder's
// extra first block and added-token rows) keep their initialisation. Returns warnings
// for tensors that were ignored.
Warnings load_hf_encoder(EncoderImpl& encoder, const std::string& dir);
Warnings load_hf_decoder(DecoderImpl& decoder, const std::string& dir);

// DMLP's own modules saved as safetensors with their state_dict names (the encoder with
// its latent projection "linear"; the decoder after change_order(), extra block first,
// with transformer.linear and transformer.linear_emb). Everything is loaded.
Warnings load_dmlp_encoder(EncoderImpl& encoder, const std::string& path);
Warnings load_dmlp_decoder(DecoderImpl& decoder, const std::string& path);

}  // namespace latent
