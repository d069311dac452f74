# The examples, and the arguments that run each at a tiny size in the test suite.
set(PSGM_EXAMPLES 01_porosity 02_ensemble 03_train 04_sample 05_compare 06_native_only 08_posterior)
# Linked with psgm::torch when it exists (they then use the LibTorch backend).
set(PSGM_EXAMPLES_USING_TORCH 03_train)
set(PSGM_EXAMPLE_ARGS_01_porosity 400 0.1)
set(PSGM_EXAMPLE_ARGS_02_ensemble 64)
set(PSGM_EXAMPLE_ARGS_03_train example_model.h5 150 16)
set(PSGM_EXAMPLE_ARGS_04_sample example_model.h5 64 100)
set(PSGM_EXAMPLE_ARGS_05_compare example_model.h5 64)
set(PSGM_EXAMPLE_ARGS_06_native_only 150 64)
set(PSGM_EXAMPLE_ARGS_08_posterior 20 4000)
# Under the sanitizers (PSGM_SANITIZE: scripts/test's alt stage, where these
# three took 83, 79 and 21 s against 4, 21 and 3 s in main) the examples that
# train or integrate take fewer steps: the same code, the learning-rate
# warm-up (50 steps) and its decay both still run.
if(PSGM_SANITIZE)
  set(PSGM_EXAMPLE_ARGS_03_train example_model.h5 60 16)
  set(PSGM_EXAMPLE_ARGS_04_sample example_model.h5 64 25)
  set(PSGM_EXAMPLE_ARGS_06_native_only 60 32)
endif()
# Built where psgm has MPI (PSGM_ENABLE_MPI=ON); linked with psgm::mpi.
if(TARGET psgm::mpi)
  list(APPEND PSGM_EXAMPLES 07_mpi)
endif()
set(PSGM_EXAMPLES_USING_MPI 07_mpi)
set(PSGM_EXAMPLE_ARGS_07_mpi ex07 12)
# 04 and 05 read the model 03 writes.
set(PSGM_EXAMPLE_NEEDS_MODEL 04_sample 05_compare)
