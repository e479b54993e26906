// Hugging Face model folders as parts of a VaeDdpm. A BERT folder (config.json,
// model.safetensors) becomes the encoder: the configuration maps to EncoderConfig and the
// weights load by name (our encoder uses BertModel's names; a "bert." prefix, as in
// BertForPreTraining checkpoints, is dropped). pytorch_model.bin is not read here: convert
// it with tools/hf/convert_bin_to_safetensors.py.
#pragma once

#include <string>
#include <vector>

#include "model/config.h"
#include "model/encoder.h"

namespace latent {

// config.json of a BERT-family model -> EncoderConfig (pooling and dropout keep `base`'s
// values). Unsupported settings (activation, position embedding type, layer norm eps)
// fail with an error naming the key.
EncoderConfig hf_bert_config(const std::string& dir, const EncoderConfig& base = {});
int hf_bert_vocab_size(const std::string& dir);

// Copies DIR/model.safetensors into the encoder. Every BertModel tensor the encoder has
// must be there with the right shape (else an error listing them); our latent projection
// `linear` is not in BERT and keeps its initialisation. Returns warnings for tensors that
// were ignored (position_ids, pre-training heads).
std::vector<std::string> load_hf_bert(Encoder& encoder, const std::string& dir);

}  // namespace latent
