// Configuration of a VAE_DDPM model and of its training, one struct per concern with
// in-class defaults. config.json holds {"format_version", "model": ModelConfig,
// "train": TrainConfig}; every field may be omitted (its default applies), unknown keys,
// wrong types and out-of-range values fail with an error that names the key.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace latent {

struct TokenizerConfig {
  // unigram | bpe: a SentencePiece tokenizer trained on the corpus, shared by both sides;
  // pretrained: the model folder's encoder_tokenizer/ and decoder_tokenizer/ (imported
  // Hugging Face or DMLP models; training must start from such a folder).
  std::string type = "unigram";
  int vocab_size = 4000;         // SentencePiece: upper bound; the trained tokenizer may have fewer pieces
};

struct EncoderConfig {  // the family's own keys: model/family.h, `latent-cli models`
  std::string arch = "bert";     // a registered encoder family; switching it takes that family's defaults
  int hidden = 256;
  int layers = 4;
  int heads = 4;
  int intermediate = 1024;       // FFN width
  int max_positions = 128;
  int type_vocab = 2;            // token types (BERT); only type 0 is used; 0: none (DeBERTa)
  // avg (DMLP's BertForLatentConnectorAVG) | cls | tokens (t5-vae: the latent projection on
  // each of the first model.latent_tokens hidden states, then tanh; inputs padded to that many)
  std::string pooling = "avg";
  double layer_norm_eps = 1e-12; // BERT's; RoBERTa's 1e-5
  std::string activation = "gelu"; // FFN: gelu (erf, BERT) | gelu_new (tanh, ALBERT) | relu | gated-gelu (T5)
  int embedding_size = 0;        // ALBERT: factorised embedding width (0 = hidden)
  int layer_groups = 1;          // ALBERT: num_hidden_groups (layers share a group's weights)
  int inner_group_num = 1;       // ALBERT: layers per group
  int head_dim = 0;              // T5: d_kv, the width of one attention head (0 = hidden / heads)
  int relative_buckets = 32;     // T5: relative_attention_num_buckets
  int relative_max_distance = 128;  // T5: relative_attention_max_distance
  // DeBERTa (v1): disentangled attention "none" | "c2p" | "p2c" | "c2p|p2c" (Hugging Face
  // relative_attention + pos_att_type), its relative span (0 = max_positions), and whether
  // absolute position embeddings are added to the input (position_biased_input).
  std::string relative_attention = "none";
  int max_relative_positions = 0;
  bool position_biased_input = true;
  // DMLP's *ForLatentConnectorNew: one more layer ("linear_forbert") on the pretrained
  // model's last hidden states; the pretrained part runs without gradient (frozen).
  bool extra_layer = false;
  double dropout = 0.1;
  // DAVAE: Gaussian noise of this standard deviation added to the encoder's input embeddings
  // (after their LayerNorm and dropout) while training; 0 = off (every family reads it).
  double embedding_noise = 0.0;
};

struct DecoderConfig {  // the family's own keys: model/family.h, `latent-cli models`
  std::string arch = "gpt2";     // a registered decoder family
  int hidden = 256;
  int layers = 4;                // "pretrained" blocks N; with extra_first_block the decoder has N+1
  int heads = 4;
  int max_positions = 128;
  bool extra_first_block = true; // DMLP's GPT2ForLatentConnectorNew
  int extra_block_mlp_ratio = 4; // MLP width of the extra first block / hidden (New: 4, New2: 12)
  bool latent_as_embedding = true;
  bool latent_as_memory = true;
  // DAVAE: the embedding projection of z (linear_emb, so latent_as_embedding) is also added
  // to every block's output, before the final norm: num_blocks + 1 additions in all.
  bool latent_every_layer = false;
  double dropout = 0.1;
  // Llama family (SmolLM2, Llama, Qwen2: model/families/llama.cpp); GPT-2 keeps the defaults.
  int intermediate = 0;          // SwiGLU width; 0: 8/3 x hidden rounded up to a multiple of 32
  int kv_heads = 0;              // key/value heads (grouped-query attention); 0 = heads
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;   // rotary base
  std::string rope_scaling = "none";  // none | linear | llama3 (Hugging Face rope_scaling.rope_type)
  double rope_factor = 1.0;           // linear, llama3
  double rope_low_freq_factor = 1.0;  // llama3
  double rope_high_freq_factor = 4.0; // llama3
  int rope_original_max_positions = 8192;  // llama3
  bool tied_head = true;         // the LM head is the token embedding (GPT-2: always)
  bool qkv_bias = false;         // Qwen2: biases on the query, key and value projections
  // Late injection (Llama family): the latent enters at block K (memory slots in blocks K and
  // up, the embedding projection added to block K's input) and adapters sit on those blocks
  // only. Blocks below K then do not depend on z: with no trainable parameter among them they
  // run without autograd, and training can keep their token states per sentence
  // (train.frozen_state_cache_mb). 0: every block (DMLP's way). K > 0 needs extra_first_block false.
  int latent_from_block = 0;
  // Low-rank adapters (LoRA, Hu et al. 2021) on the pretrained blocks' q, k, v and o
  // projections: W x + B A x with A (r, in) ~ U(+-1/sqrt(in)), B (out, r) zero, so an imported
  // model starts as the pretrained one. 0 = none. Trainable in every train.trainable mode.
  int lora_rank = 0;
  // float32 | float16 | gguf-blocks (model/decode_weights.h): on the CPU, decoding calls of at
  // most 4 rows read the linear weights and the head from fp16 copies (half the bytes a token;
  // greedy output can differ from fp32 where two tokens nearly tie); gguf-blocks reads weights
  // that are exactly GGUF Q4_1/Q8_0 blocks as those blocks (lossless) in calls of at most 16
  // rows, the others as float16. Training and batched calls stay fp32. Llama family.
  std::string cpu_decode_weights = "float32";
  // T5 family (model/families/t5_decoder.cpp): the latent tokens are its cross-attention memory.
  int head_dim = 0;              // d_kv, the width of one attention head (0 = hidden / heads)
  int relative_buckets = 32;     // relative_attention_num_buckets
  int relative_max_distance = 128;  // relative_attention_max_distance
  std::string activation = "relu";  // feed-forward: relu (T5) | gated-gelu (T5 v1.1, Flan-T5)
};

struct DiffusionConfig {
  int steps = 2000;              // T
  std::string schedule = "constant";  // constant (DMLP) | linear | cosine
  double beta = 0.008;           // constant schedule value; also the fixed posterior variance
  double beta_start = 1e-4;      // linear schedule
  double beta_end = 0.02;
};

struct NoiseNetConfig {
  std::string type = "mlp_skip"; // mlp_skip (MLPSkipNet) | transformer | linear
  int layers = 6;                // MLPSkipNet layers (DMLP: 20); TransformerNet encoder layers (DMLP: 12)
  int hidden = 512;              // MLPSkipNet width (DMLP: 2048); TransformerNet token width (DMLP: 512)
  int heads = 8;                 // TransformerNet
  double dropout = 0.1;          // TransformerNet
};

struct ModelConfig {
  int latent_dim = 64;           // D: the whole latent, as the prior, interpolation and files see it
  // n: the latent as n tokens of D / n (t5-vae: 6 x 32). The decoders take them as n memory
  // slots per block; the transformer noise network as n tokens; the MMD as B x n samples.
  int latent_tokens = 1;
  int max_length = 64;           // tokens per sentence (without BOS/EOS); longer ones are cut
  TokenizerConfig tokenizer;
  EncoderConfig encoder;
  DecoderConfig decoder;
  DiffusionConfig diffusion;
  NoiseNetConfig noise_net;
  double alpha_ddpm = 10.0;      // weight of the diffusion loss; 0 = plain autoencoder
  std::string loss_pairing = "dmlp";  // dmlp (mean(w) * mean(vae)) | per_sample
  // fixed (logvar = log beta, DMLP) | learned | deterministic (Optimus's and DAVAE's
  // fb_mode 2: logvar = 0, so z = mu + N(0, I) noise, and the KL is |mu|^2 / 2)
  std::string posterior = "fixed";
  // posterior: learned or deterministic only
  std::string kl_schedule = "linear"; // constant | linear | cyclical | optimus | trapezoid
  int kl_anneal_steps = 2000;    // warm-up length (linear), cycle length (cyclical), or the
                                 // schedule's length (optimus: n_iter; after it, kl_weight)
  // optimus: Optimus's frange_cycle_zero_linear: kl_cycles cycles over kl_anneal_steps,
  // each zero for kl_ratio_zero of the cycle, then rising linearly by kl_weight /
  // (period x kl_ratio_increase) a step while it stays <= kl_weight, then kl_weight.
  // trapezoid: kl_cycles cycles, each zero for kl_ratio_zero, rising linearly to kl_weight
  // over kl_ratio_increase, holding, then falling linearly to 0 over the last
  // kl_ratio_decrease of the cycle; after the schedule, the value at its end.
  int kl_cycles = 1;
  double kl_ratio_zero = 0.5;
  double kl_ratio_increase = 0.25;
  double kl_ratio_decrease = 0.25;
  double kl_weight = 1.0;        // final KL weight
  double free_bits = 0.0;        // per latent dimension on the KL term (nats); 0 = off
  // floor: each dimension's batch-mean KL counts as at least free_bits (Kingma et al. 2016);
  // mask: Optimus's and DAVAE's dim_target_kl: a sample's dimension counts only where its
  // KL exceeds free_bits (the others give no gradient).
  std::string free_bits_mode = "floor";
  // The reconstruction term per sentence: true, its summed cross-entropy divided by the
  // sentence's tokens (BOS..EOS), then + kl_weight x KL (DMLP; Optimus and DAVAE with
  // length_weighted_loss); false, the summed cross-entropy + kl_weight x KL.
  bool length_weighted_loss = true;
  // Decoder input tokens replaced by <unk> with this probability during training
  // (Bowman et al. 2016): a decoder trained from scratch otherwise learns to ignore z.
  double word_dropout = 0.0;     // 0 = DMLP
  // A regulariser pulling the aggregate of z towards N(0, I), added to the loss with
  // regularizer_weight (model/regularizers.h): none (DMLP: the DDPM prior learns where z
  // lies); mmd (t5-vae: MMD against N(0, I) samples); adversarial (DAVAE: a discriminator
  // Linear(D, 4D) -> ReLU -> Linear(4D, 1), trained in the same step).
  std::string regularizer = "none";
  double regularizer_weight = 1.0;
  // A warm-up of that weight, as Fraser Greenlee's transformer-vae trainer does: x
  // sigmoid(k x step - b) when k > 0 (t5-vae: k = 0.0025, b = 6.25, from about 0.002 to 1
  // over ~5,000 steps); k = 0: constant.
  double regularizer_warmup_k = 0.0;
  double regularizer_warmup_b = 0.0;
};

struct TrainConfig {
  std::string optimizer = "adam";     // adam (DMLP) | adamw
  double lr = 5e-4;
  double adam_eps = 1e-5;             // DMLP's eps
  double weight_decay = 0.0;          // adamw only
  int warmup_steps = 500;
  double lr_end_ratio = 0.01;         // lr_end = ratio * lr (DMLP: 0.01)
  double lr_power = 3.0;              // polynomial decay power (DMLP: 3)
  double grad_clip = 1.0;             // max gradient norm; 0 disables
  int accumulate = 1;                 // gradient accumulation steps
  int batch_size = 64;
  int64_t steps = 0;                  // optimiser steps; 0 = derive from epochs
  int epochs = 1;
  std::string trainable = "all";      // all | dmlp (names with linear, wte / embed_tokens, decoder block 0, encoder, + eps_model)
                                      // | latent (pretrained decoder frozen: VaeDdpmImpl::trainable)
  // Parameters whose names start with one of these stay frozen, whatever trainable says
  // (e.g. "encoder.embeddings.", "encoder.encoder.layer.0."); each must name at least one.
  std::vector<std::string> freeze;
  uint64_t seed = 42;
  std::string precision = "bf16";     // CUDA only: bf16 | fp16 | fp32
  // CPU: fp32 | bf16 (autocast: products in bf16, weights and optimiser in fp32). bf16 needs a
  // CPU with AVX512_BF16 or AMX-BF16 (detected at run time; elsewhere the run is refused by
  // name); opt-in, as it changes the numbers (docs/PERFORMANCE.md, "bf16 autocast on the CPU").
  std::string cpu_precision = "fp32";
  // With late injection (model.decoder.latent_from_block > 0) and the blocks below it frozen:
  // their token states are kept per sentence, up to this many MiB, and read back when the
  // sentence comes again (later epochs, evaluation) instead of running those blocks. 0 = off.
  int frozen_state_cache_mb = 1024;
  int eval_every = 500;               // steps between evaluations (and checkpoints); 0 = only at the end
  int eval_sentences = 200;           // held-out sentences for reconstruction BLEU during training
  int eval_samples = 5;               // generated samples shown at each evaluation
  int max_nonfinite = 20;             // consecutive non-finite losses before training stops
  int ddpm_detach_steps = 0;          // first N steps: the diffusion loss trains the noise network on
                                      // detached latents, so the autoencoder learns to use z before the
                                      // prior pulls on the encoder (0 = DMLP: joint from the start)
  int log_every = 10;                 // steps between progress lines
  int threads = 0;                    // CPU threads; 0 = all cores
};

// The latent's shape as the encoder's projection and the decoder's memory slots see it:
// `tokens` tokens of width() each, flattened to one vector of `dim`.
struct LatentShape {
  LatentShape(int dim, int tokens = 1) : dim(dim), tokens(tokens) {}  // NOLINT: an int is one token
  explicit LatentShape(const ModelConfig& c) : LatentShape(c.latent_dim, c.latent_tokens) {}
  int dim;
  int tokens;
  int width() const { return dim / tokens; }
};

struct Config {
  ModelConfig model;
  TrainConfig train;
};

// Named presets: "tiny" (tests), "small" (CPU default, 3.5M parameters: good held-out reconstructions
// in ~30 minutes on 2 cores), "dmlp" (DMLP's demo shapes), "pretrained" (the recipe for an imported
// MiniLM encoder + SmolLM2 decoder: the decoder frozen).
Config preset(const std::string& name);
std::vector<std::string> preset_names();

// where: the file (or "preset"), used as the prefix of every error ("config.json: model.encoder.hidden: ...").
Config config_from_json(const nlohmann::json& j, const std::string& where);
nlohmann::json config_to_json(const Config& c);  // includes format_version
// Applies j on top of base (only the keys present change).
Config merge_config(const Config& base, const nlohmann::json& j, const std::string& where);

// One section on top of base (only the keys present change), e.g. a DMLP class's overrides.
EncoderConfig merge_encoder_config(const EncoderConfig& base, const nlohmann::json& j, const std::string& where);
DecoderConfig merge_decoder_config(const DecoderConfig& base, const nlohmann::json& j, const std::string& where);

// Model families (model/family.h holds the registry). Switching arch keeps the shapes
// (hidden, layers, heads, intermediate, max_positions, pooling, dropout, latent switches,
// extra block where the new family has one) and takes the new family's other defaults; an unregistered name throws
// latent::Error(where, ...) listing the registered ones.
EncoderConfig with_encoder_arch(const EncoderConfig& c, const std::string& arch, const std::string& where);
DecoderConfig with_decoder_arch(const DecoderConfig& c, const std::string& arch, const std::string& where);
std::vector<std::string> encoder_family_names();  // sorted
std::vector<std::string> decoder_family_names();

// Cross-field checks (heads divide hidden, known enum values...); throws latent::Error naming the key.
// CPU threads a configuration or a command line may ask for (train.threads, --threads):
// at::set_num_threads takes any int, and a huge pool exhausts the process's threads or memory.
constexpr int kMaxThreads = 1024;
// Refuses a thread count outside [0, kMaxThreads] (0: all cores), naming `where`.
void check_threads(int64_t threads, const std::string& where);

void validate(const Config& c, const std::string& where);

}  // namespace latent
