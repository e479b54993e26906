// Helpers for building modules under Hugging Face-style dotted names
// ("attention.self.query") without one C++ class per naming level.
#pragma once

#include <torch/nn/module.h>

#include <memory>
#include <string>

namespace latent {

// Registers `module` at a dotted path below `parent`, creating empty container modules
// for the intermediate levels; returns the module holder.
template <class Holder>
Holder register_at(torch::nn::Module& parent, const std::string& path, Holder module) {
  torch::nn::Module* node = &parent;
  size_t start = 0;
  for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', start)) {
    const std::string name = path.substr(start, dot - start);
    std::shared_ptr<torch::nn::Module> child;
    for (const auto& item : node->named_children())
      if (item.key() == name) child = item.value();
    if (!child) child = node->register_module(name, std::make_shared<torch::nn::Module>());
    node = child.get();
    start = dot + 1;
  }
  return node->register_module(path.substr(start), module);
}

}  // namespace latent
