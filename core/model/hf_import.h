// Hugging Face model folders as parts of a VaeDdpm. A BERT folder (config.json,
// model.safetensors) becomes the encoder: the configuration maps to EncoderConfig and the
// weights load by name (our encoder uses BertModel's names; a "bert." prefix, as in
// BertForPreTraining checkpoints, is dropped). pytorch_model.bin is not read here: convert
// it with tools/hf/convert_bin_to_safetensors.py.
#pragma once

#include <string>
#include <vector>

#include "model/config.h"
#include "model/decoder.h"
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

// config.json of a GPT-2 model -> DecoderConfig (the latent switches, the extra first
// block and dropout keep `base`'s values).
DecoderConfig hf_gpt2_config(const std::string& dir, const DecoderConfig& base = {});
int hf_gpt2_vocab_size(const std::string& dir);

// Copies DIR/model.safetensors into the decoder: Conv1D weights transposed, block i to
// block i+1 when the decoder has DMLP's extra first block (which, like the latent
// projections, keeps its fresh initialisation), and the first vocab_size rows of the
// token embedding (rows beyond it are added tokens such as <PAD>, <BOS>, <EOS>, freshly
// initialised as resize_token_embeddings does). A "transformer." prefix is accepted;
// lm_head.weight (tied) and attention-mask buffers are ignored. Returns warnings for
// other ignored tensors.
std::vector<std::string> load_hf_gpt2(Decoder& decoder, const std::string& dir);

// DMLP's own modules saved as safetensors with their state_dict names (the encoder: a
// BertForLatentConnectorAVG, with its latent projection "linear"; the decoder: a
// GPT2ForLatentConnectorNew after change_order(), extra block first, with
// transformer.linear and transformer.linear_emb). Everything is loaded, nothing is fresh.
std::vector<std::string> load_dmlp_encoder(Encoder& encoder, const std::string& path);
std::vector<std::string> load_dmlp_decoder(Decoder& decoder, const std::string& path);

}  // namespace latent
