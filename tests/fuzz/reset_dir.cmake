# cmake -DDIR=<path> -P reset_dir.cmake: leaves DIR existing and empty (fixture for the fuzz tests).
if(NOT DIR)
  message(FATAL_ERROR "reset_dir.cmake: DIR not set")
endif()
file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}")
