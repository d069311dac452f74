# ctest script: install psgm from PSGM_BUILD_DIR into WORK_DIR/install, then
# configure and build the project in SOURCE_DIR against that installation
# with find_package(psgm), as a user project would. Optionally runs RUN
# (a program of the built project, relative to its build directory).
#
#   cmake -DPSGM_BUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DPREFIX_PATH="a|b"
#         -DCXX=... [-DLAUNCHER=ccache] [-DRUN=prog] [-DCHECK_PSGM=ON] -P PsgmBuildInstalledProject.cmake
file(REMOVE_RECURSE ${WORK_DIR})
string(REPLACE "|" ";" PREFIX_PATH "${PREFIX_PATH}")
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${err}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${PSGM_BUILD_DIR} --prefix ${WORK_DIR}/install)
# With CHECK_PSGM (where it can run: not in the cuda and hip stages, which
# have no GPU), the installed executable runs from the prefix alone (its
# RUNPATH) and opens its LibTorch module where one is installed
# (src/cli/TorchModule.hpp).
if(CHECK_PSGM AND EXISTS ${WORK_DIR}/install/bin/psgm)
  execute_process(COMMAND ${WORK_DIR}/install/bin/psgm info -v RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the installed psgm does not run (${rc}): ${err}")
  endif()
  file(GLOB_RECURSE _module ${WORK_DIR}/install/*libpsgm_cli_torch.so)
  if(_module AND NOT out MATCHES "libpsgm_cli_torch.so \\(loads\\)")
    message(FATAL_ERROR "the installed psgm does not load its LibTorch module ${_module}:\n${out}")
  endif()
  message("installed psgm runs; its LibTorch module: ${_module}")
endif()
set(launcher_arg)
if(LAUNCHER)
  set(launcher_arg -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_CXX_COMPILER=${CXX} ${launcher_arg}
    "-DCMAKE_PREFIX_PATH=${WORK_DIR}/install;${PREFIX_PATH}" -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
if(RUN)
  run(${WORK_DIR}/build/${RUN})
endif()
