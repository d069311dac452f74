# ctest script: install psgm from PSGM_BUILD_DIR into WORK_DIR/install, then
# configure and build the project in SOURCE_DIR against that installation
# with find_package(psgm), as a user project would. Optionally runs RUN
# (a program of the built project, relative to its build directory).
#
#   cmake -DPSGM_BUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DPREFIX_PATH="a|b"
#         -DCXX=... [-DLAUNCHER=ccache] [-DRUN=prog] -P PsgmBuildInstalledProject.cmake
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
