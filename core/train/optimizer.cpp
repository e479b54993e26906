#include "train/optimizer.h"

#include <ATen/ATen.h>

#include <cmath>
#include <map>

#include "util/error.h"

namespace latent {

AdamOptimizer::AdamOptimizer(std::vector<std::pair<std::string, at::Tensor>> params, const TrainConfig& c)
    : params_(std::move(params)), eps_(c.adam_eps), weight_decay_(c.weight_decay), decoupled_(c.optimizer == "adamw") {
  for (const auto& [name, p] : params_) {
    exp_avg_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
  }
}

void AdamOptimizer::zero_grad() {
  for (auto& [name, p] : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

void AdamOptimizer::step(double lr) {
  at::NoGradGuard guard;
  ++step_;
  const double bc1 = 1.0 - std::pow(beta1_, static_cast<double>(step_));
  const double bc2 = 1.0 - std::pow(beta2_, static_cast<double>(step_));
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i].second;
    if (!p.grad().defined()) continue;
    at::Tensor g = p.grad();
    if (weight_decay_ > 0) {
      if (decoupled_) p.mul_(1.0 - lr * weight_decay_);
      else g = g.add(p, weight_decay_);
    }
    exp_avg_[i].lerp_(g, 1.0 - beta1_);
    exp_avg_sq_[i].mul_(beta2_).addcmul_(g, g, 1.0 - beta2_);
    const auto denom = (exp_avg_sq_[i].sqrt() / std::sqrt(bc2)).add_(eps_);
    p.addcdiv_(exp_avg_[i], denom, -lr / bc1);
  }
}

io::NamedTensors AdamOptimizer::state() const {
  io::NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("exp_avg." + params_[i].first, exp_avg_[i].to(at::kCPU));
    out.emplace_back("exp_avg_sq." + params_[i].first, exp_avg_sq_[i].to(at::kCPU));
  }
  return out;
}

void AdamOptimizer::load_state(const io::NamedTensors& tensors, int64_t step, const std::string& where) {
  std::map<std::string, const at::Tensor*> byname;
  for (const auto& [name, t] : tensors) byname[name] = &t;
  at::NoGradGuard guard;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto [prefix, dst] : {std::pair<const char*, at::Tensor*>{"exp_avg.", &exp_avg_[i]}, {"exp_avg_sq.", &exp_avg_sq_[i]}}) {
      const auto it = byname.find(prefix + params_[i].first);
      if (it == byname.end()) throw Error(where, std::string("optimizer state lacks ") + prefix + params_[i].first);
      if (it->second->sizes() != dst->sizes())
        throw Error(where, std::string("optimizer state ") + prefix + params_[i].first + " has the wrong shape");
      dst->copy_(*it->second);
    }
  }
  step_ = step;
}

double lr_at(const TrainConfig& c, int64_t step, int64_t total_steps) {
  const double lr0 = c.lr, lr_end = c.lr * c.lr_end_ratio;
  if (step < c.warmup_steps) return lr0 * static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  if (step >= total_steps) return lr_end;
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps - c.warmup_steps));
  const double remaining = 1.0 - static_cast<double>(step - c.warmup_steps) / span;
  return (lr0 - lr_end) * std::pow(remaining, c.lr_power) + lr_end;
}

}  // namespace latent
