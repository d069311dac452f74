# The examples, and the arguments that run each at a tiny size in the test suite.
set(PSGM_EXAMPLES 01_porosity 02_ensemble)
set(PSGM_EXAMPLES_USING_TORCH)
set(PSGM_EXAMPLE_ARGS_01_porosity 400 0.1)
set(PSGM_EXAMPLE_ARGS_02_ensemble 64)
