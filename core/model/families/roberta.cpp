// The RoBERTa encoder family (DMLP's RobertaForLatentConnector and ...New, whose extra
// layer is BERT's: families/bert.h): BERT's layers with
// RoBERTa's position ids, which count real tokens from padding_idx + 1 (the tokenizer's
// <pad> id, 1 in RoBERTa's vocabulary) and give padding padding_idx; LayerNorm eps 1e-5,
// one token type. Parameter names: Hugging Face RobertaModel ("roberta." prefix accepted).
//
// DMLP's class averages the last hidden states over the real tokens and applies the
// pooler (tanh(dense)) to that mean. It casts the averaging weights to fp16 first (it
// trains under CUDA autocast), which fails in fp32; the mean here is the fp32 one.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "model/families/bert.h"
#include "model/family.h"
#include "util/error.h"

namespace latent {
namespace {

struct RobertaEncoderImpl : BertEncoderImpl {
  RobertaEncoderImpl(const EncoderConfig& c, int vocab_size, LatentShape latent, int pad)
      : BertEncoderImpl(c, vocab_size, latent, pad) {
    // Positions count from the pad id + 1; the family reserves 2 ids before the tokens.
    if (pad < 0 || pad > 1)
      throw Error("model.encoder", "a RoBERTa encoder numbers positions from its pad id + 1, so the pad id must be 0 or 1 "
                                   "(RoBERTa's <pad> is 1), got " + std::to_string(pad));
  }
  // transformers' create_position_ids_from_input_ids, with the encoder's pad id.
  at::Tensor position_ids(const at::Tensor&, const at::Tensor& mask) override {
    const auto m = mask.to(at::kLong);            // (B, L)
    return m.cumsum(1) * m + pad_id;              // (B, L)
  }
};

}  // namespace

EncoderFamily roberta_family() {
  EncoderFamily f;
  f.name = "roberta";
  f.description = "RoBERTa (BERT layers, positions after padding_idx, byte-level BPE), avg pooling + pooler";
  f.hf_model_types = {"roberta"};
  f.dmlp_classes = {{"RobertaForLatentConnector", R"({"pooling": "avg"})"},
                    {"RobertaForLatentConnectorNew", R"({"pooling": "avg", "extra_layer": true})"}};
  f.tokenizer = "roberta-bpe";
  f.defaults.arch = "roberta";
  f.defaults.layer_norm_eps = 1e-5;
  f.defaults.type_vocab = 1;
  f.defaults.pooling = "avg";
  f.extra_positions = 2;  // ids start at padding_idx + 1 = 2
  f.from_hf = [](const nlohmann::json& j, const EncoderConfig& base, const std::string& path) {
    EncoderConfig c = bert_like_from_hf(j, base, path);
    if (!j.contains("type_vocab_size")) c.type_vocab = 1;
    if (!j.contains("layer_norm_eps")) c.layer_norm_eps = 1e-5;
    return c;
  };
  f.check = [](const EncoderConfig& c, const std::string& where) { check_bert_like(c, where, "roberta"); };
  f.make = [](const EncoderConfig& c, const VocabSpec& v, LatentShape latent) -> Encoder {
    return std::make_shared<RobertaEncoderImpl>(c, v.size, latent, v.ids.pad);
  };
  f.load = [](EncoderImpl& e, io::NamedTensors t, const std::string& path, bool with_latent) {
    return load_by_name(e, std::move(t), path, {"roberta."}, {"embeddings.position_ids"}, with_latent, "RoBERTa tensors");
  };
  return f;
}

}  // namespace latent
