# uptake_library(NAME SOURCES...): the library target uptake_NAME with its alias uptake::NAME,
# public headers from the folder's include/, C++20 for its users, and the project's warnings.
# Dependencies are added by the caller with target_link_libraries.
function(uptake_library name)
  add_library(uptake_${name} ${ARGN})
  add_library(uptake::${name} ALIAS uptake_${name})
  target_include_directories(uptake_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_compile_features(uptake_${name} PUBLIC cxx_std_20)
  uptake_warnings(uptake_${name})
endfunction()
