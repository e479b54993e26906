// The three noise networks of spec section 5. Module trees mirror DMLP's so that the
// parameter names (listed in noise_nets.h) equal DMLP's state_dict keys.
#include "model/noise_nets.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cmath>
#include <vector>

#include "util/error.h"

namespace latent {

at::Tensor timestep_embedding(const at::Tensor& t_frac, int dim) {
  const int64_t half = dim / 2;
  // Frequencies are built in float32 like DMLP's, so the features match it bit for bit.
  const auto freqs =
      at::exp(at::arange(0, half, at::kFloat) * static_cast<float>(-std::log(10000.0)) / static_cast<double>(half))
          .to(t_frac.device());                                                // (half,)
  const auto args = t_frac.to(at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);   // (B, half)
  auto emb = at::cat({at::cos(args), at::sin(args)}, -1);                      // (B, 2*half)
  if (dim % 2) emb = at::cat({emb, at::zeros_like(emb.narrow(1, 0, 1))}, -1);  // (B, dim)
  return emb;
}

namespace {

constexpr int kTimeFeatures = 64;  // DMLP's time_embed_dim

// time_embed = Sequential(Linear(64, D), SiLU, Linear(D, D)); a ModuleList gives the same
// child names (0, 1, 2) while keeping typed handles for the forward pass.
struct TimeEmbed {
  torch::nn::Linear l0{nullptr}, l2{nullptr};
  void build(torch::nn::Module& owner, int D) {
    torch::nn::ModuleList seq;
    l0 = torch::nn::Linear(kTimeFeatures, D);
    l2 = torch::nn::Linear(D, D);
    seq->push_back(l0);
    seq->push_back(torch::nn::SiLU());
    seq->push_back(l2);
    owner.register_module("time_embed", seq);
  }
  at::Tensor operator()(const at::Tensor& t_frac, const at::Tensor& x) {
    const auto f = timestep_embedding(t_frac, kTimeFeatures).to(x.scalar_type());  // (B, 64)
    return l2(at::silu(l0(f)));                                                    // (B, D)
  }
};

// One layer of MLPSkipNet (DMLP's MLPLNAct). Hidden layers: Linear, scale by
// (1 + Linear(SiLU(cond))), LayerNorm, SiLU. The last layer: a plain Linear.
struct MLPLNAct : torch::nn::Module {
  bool hidden_layer;
  torch::nn::Linear linear{nullptr}, linear_emb{nullptr};
  torch::nn::LayerNorm norm{nullptr};

  MLPLNAct(int in, int out, bool hidden, int cond_dim) : hidden_layer(hidden) {
    linear = register_module("linear", torch::nn::Linear(in, out));
    if (!hidden) return;  // DMLP leaves the last layer's default init
    linear_emb = register_module("linear_emb", torch::nn::Linear(cond_dim, out));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({out})));
    // DMLP re-initialises the weights of SiLU layers (both Linears) for ReLU-like gain.
    torch::nn::init::kaiming_normal_(linear->weight, 0, torch::kFanIn, torch::kReLU);
    torch::nn::init::kaiming_normal_(linear_emb->weight, 0, torch::kFanIn, torch::kReLU);
  }

  // h: (B, in); silu_cond: (B, cond_dim), SiLU already applied (it is the same for every layer).
  at::Tensor forward(const at::Tensor& h, const at::Tensor& silu_cond) {
    auto y = linear(h);  // (B, out)
    if (!hidden_layer) return y;
    y = y * (1 + linear_emb(silu_cond));  // (B, out)
    return at::silu(norm(y));             // (B, out)
  }
};

struct MLPSkipNet : NoiseNet {
  TimeEmbed time_embed;
  std::vector<std::shared_ptr<MLPLNAct>> layers;

  MLPSkipNet(int D, int num_layers, int hidden) {
    time_embed.build(*this, D);
    torch::nn::ModuleList list;
    for (int i = 0; i < num_layers; ++i) {
      const bool last = i == num_layers - 1;
      const int in = (i == 0 ? D : hidden + D);  // every layer but the first also sees x_t
      layers.push_back(std::make_shared<MLPLNAct>(in, last ? D : hidden, !last, D));
      list->push_back(layers.back());
    }
    register_module("layers", list);
  }

  at::Tensor forward(const at::Tensor& x, const at::Tensor& t_frac) override {
    const auto silu_cond = at::silu(time_embed(t_frac, x));  // (B, D)
    auto h = x;                                              // (B, D)
    for (size_t i = 0; i < layers.size(); ++i) {
      if (i > 0) h = at::cat({h, x}, 1);     // (B, hidden + D)
      h = layers[i]->forward(h, silu_cond);  // (B, hidden) or (B, D) at the end
    }
    return h;
  }
};

// PyTorch's nn.MultiheadAttention parameter layout (packed in_proj), computed with SDPA.
struct SelfAttention : torch::nn::Module {
  int heads;
  double dropout;
  at::Tensor in_proj_weight, in_proj_bias;
  torch::nn::Linear out_proj{nullptr};

  SelfAttention(int E, int h, double p) : heads(h), dropout(p) {
    in_proj_weight = register_parameter("in_proj_weight", at::empty({3 * E, E}));  // (3E, E)
    in_proj_bias = register_parameter("in_proj_bias", at::zeros({3 * E}));         // (3E,)
    out_proj = register_module("out_proj", torch::nn::Linear(E, E));
    torch::nn::init::xavier_uniform_(in_proj_weight);
    torch::nn::init::zeros_(out_proj->bias);
  }

  at::Tensor forward(const at::Tensor& x) {  // x: (B, S, E)
    const auto B = x.size(0), S = x.size(1), E = x.size(2), dh = E / heads;
    const auto qkv = at::linear(x, in_proj_weight, in_proj_bias).chunk(3, -1);  // 3 x (B, S, E)
    auto split = [&](const at::Tensor& a) { return a.view({B, S, heads, dh}).transpose(1, 2); };
    const auto o = at::scaled_dot_product_attention(split(qkv[0]), split(qkv[1]), split(qkv[2]), {},
                                                    is_training() ? dropout : 0.0);  // (B, h, S, dh)
    return out_proj(o.transpose(1, 2).reshape({B, S, E}));                           // (B, S, E)
  }
};

// PyTorch's nn.TransformerEncoderLayer defaults: post-LN, ReLU FFN of 4E, dropout p.
struct EncoderLayer : torch::nn::Module {
  double p;
  std::shared_ptr<SelfAttention> self_attn;
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};

  EncoderLayer(int E, int heads, double dropout) : p(dropout) {
    self_attn = register_module("self_attn", std::make_shared<SelfAttention>(E, heads, dropout));
    linear1 = register_module("linear1", torch::nn::Linear(E, 4 * E));
    linear2 = register_module("linear2", torch::nn::Linear(4 * E, E));
    norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({E})));
    norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({E})));
  }

  at::Tensor forward(const at::Tensor& x) {  // x: (B, S, E)
    const bool tr = is_training();
    auto h = norm1(x + at::dropout(self_attn->forward(x), p, tr));      // (B, S, E)
    const auto ff = linear2(at::dropout(at::relu(linear1(h)), p, tr));  // (B, S, E)
    return norm2(h + at::dropout(ff, p, tr));                           // (B, S, E)
  }
};

// DMLP hands a (B, 4, 512) tensor to nn.TransformerEncoder built with batch_first=False,
// so its attention mixes the samples of a batch (sequence axis = batch) and each
// sample's 4 tokens are treated as 4 independent sequences. Here attention runs over
// the 4 tokens of each sample, as intended; weights have the same names and shapes,
// but a DMLP-trained TransformerNet will not give DMLP's outputs. DMLP's layers also
// start as deep copies of one layer; ours are initialised independently.
struct TransformerNet : NoiseNet {
  int64_t tokens;  // DMLP's 4 (one latent vector), or the latent's n tokens
  int E;
  bool per_token;  // n > 1: the latent's tokens are the transformer's
  TimeEmbed time_embed;
  torch::nn::Linear linear_1{nullptr}, linear_2{nullptr};
  at::Tensor slot_embed;  // (n, E), per_token only
  std::vector<std::shared_ptr<EncoderLayer>> layers;

  TransformerNet(LatentShape latent, int num_layers, int hidden, int heads, double dropout)
      : tokens(latent.tokens > 1 ? latent.tokens : 4), E(hidden), per_token(latent.tokens > 1) {
    const int64_t in = per_token ? latent.width() : latent.dim, out = per_token ? E : tokens * E;
    linear_1 = register_module("linear_1", torch::nn::Linear(in, out));
    linear_2 = register_module("linear_2", torch::nn::Linear(out, in));
    if (per_token) slot_embed = register_parameter("slot_embed", torch::randn({tokens, int64_t(E)}) * 0.02);
    time_embed.build(*this, latent.dim);
    auto encoder = std::make_shared<torch::nn::Module>();
    torch::nn::ModuleList list;
    for (int i = 0; i < num_layers; ++i) {
      layers.push_back(std::make_shared<EncoderLayer>(E, heads, dropout));
      list->push_back(layers.back());
    }
    encoder->register_module("layers", list);
    register_module("transformer_encoder", encoder);
  }

  at::Tensor forward(const at::Tensor& x, const at::Tensor& t_frac) override {
    const int64_t B = x.size(0);
    const auto cond = time_embed(t_frac, x);                    // (B, D)
    at::Tensor h = per_token ? linear_1((x + cond).view({B, tokens, -1})) + slot_embed  // (B, n, E)
                             : linear_1(x + cond).view({B, tokens, E});                 // (B, 4, E)
    for (auto& l : layers) h = l->forward(h);
    return per_token ? linear_2(h).reshape({B, -1}) : linear_2(h.reshape({B, tokens * E}));  // (B, D)
  }
};

// DMLP's LinearModel: a sine time embedding (TimeSiren) added to x, then a small MLP.
struct LinearModel : NoiseNet {
  torch::nn::Linear lin1{nullptr}, lin2{nullptr}, fc0{nullptr}, fc1{nullptr}, fc2{nullptr};

  explicit LinearModel(int D) {
    auto timeembed = std::make_shared<torch::nn::Module>();
    lin1 = timeembed->register_module("lin1", torch::nn::Linear(torch::nn::LinearOptions(1, D).bias(false)));
    lin2 = timeembed->register_module("lin2", torch::nn::Linear(D, D));
    register_module("timeembed", timeembed);
    // linear = Sequential(Sequential(Linear, LeakyReLU), Sequential(Linear, LeakyReLU), Linear)
    auto block = [](const torch::nn::Linear& l) {
      torch::nn::ModuleList b;
      b->push_back(l);
      b->push_back(torch::nn::LeakyReLU());
      return b;
    };
    fc0 = torch::nn::Linear(D, 2 * D);
    fc1 = torch::nn::Linear(2 * D, D);
    fc2 = torch::nn::Linear(D, D);
    torch::nn::ModuleList seq;
    seq->push_back(block(fc0));
    seq->push_back(block(fc1));
    seq->push_back(fc2);
    register_module("linear", seq);
  }

  at::Tensor forward(const at::Tensor& x, const at::Tensor& t_frac) override {
    const auto t = t_frac.to(x.scalar_type()).view({-1, 1});         // (B, 1)
    const auto temb = at::sin(lin2(at::leaky_relu(lin1(t), 0.01)));  // (B, D)
    auto h = at::leaky_relu(fc0(x + temb), 0.01);                    // (B, 2D)
    h = at::leaky_relu(fc1(h), 0.01);                                // (B, D)
    return fc2(h);                                                   // (B, D)
  }
};

}  // namespace

std::shared_ptr<NoiseNet> make_noise_net(const NoiseNetConfig& c, LatentShape latent) {
  const int latent_dim = latent.dim;
  if (latent_dim < 1) throw Error("model.latent_dim", "must be at least 1, got " + std::to_string(latent_dim));
  if (c.type == "linear") return std::make_shared<LinearModel>(latent_dim);
  if (c.type != "mlp_skip" && c.type != "transformer")
    throw Error("model.noise_net.type",
                "unknown noise network \"" + c.type + "\" (expected mlp_skip, transformer or linear)");
  if (c.hidden < 1) throw Error("model.noise_net.hidden", "must be at least 1, got " + std::to_string(c.hidden));
  if (c.type == "mlp_skip") {
    if (c.layers < 2)  // the first layer maps D -> hidden and the last hidden -> D
      throw Error("model.noise_net.layers", "mlp_skip needs at least 2 layers, got " + std::to_string(c.layers));
    return std::make_shared<MLPSkipNet>(latent_dim, c.layers, c.hidden);
  }
  if (c.layers < 1) throw Error("model.noise_net.layers", "must be at least 1, got " + std::to_string(c.layers));
  if (c.heads < 1 || c.hidden % c.heads != 0)
    throw Error("model.noise_net.heads", "must be positive and divide hidden (" + std::to_string(c.hidden) + "), got " +
                                             std::to_string(c.heads));
  if (!(c.dropout >= 0.0 && c.dropout < 1.0))
    throw Error("model.noise_net.dropout", "must be in [0, 1), got " + std::to_string(c.dropout));
  if (latent.tokens < 1 || latent_dim % latent.tokens != 0)
    throw Error("model.latent_tokens", "must divide latent_dim (" + std::to_string(latent_dim) + "), got " +
                                           std::to_string(latent.tokens));
  return std::make_shared<TransformerNet>(latent, c.layers, c.hidden, c.heads, c.dropout);
}

}  // namespace latent
