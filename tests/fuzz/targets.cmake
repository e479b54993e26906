# The fuzz targets: one file each in tests/fuzz/. The fuzz preset builds them with
# libFuzzer; the normal test build replays their seeds and regressions (tests/CMakeLists.txt).
set(LATENT_FUZZ_TARGETS
  fuzz_safetensors_index
  fuzz_tokenizer_folder
  fuzz_model_folder
  fuzz_sentencepiece
  fuzz_corpus
  fuzz_metrics_log
  fuzz_npy
)
# The parsers that need LibTorch (the family registry builds the model the file describes):
# our config.json, Hugging Face config.json, DMLP's dmlp.json. Built with libFuzzer by the
# asan preset (clang; tests/sanitize/run.sh asan), replayed by the normal build.
set(LATENT_TORCH_FUZZ_TARGETS
  fuzz_model_config
  fuzz_hf_config
  fuzz_dmlp_json
)
