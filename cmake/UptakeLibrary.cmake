# uptake_library(NAME SOURCES...): the library target uptake_NAME with its alias uptake::NAME,
# public headers from the folder's include/, C++20 for its users, and the project's warnings.
# Dependencies are added by the caller with target_link_libraries. Its exported name is NAME, so
# that another project's find_package(uptake) sees it as uptake::NAME too.
function(uptake_library name)
  add_library(uptake_${name} ${ARGN})
  add_library(uptake::${name} ALIAS uptake_${name})
  target_include_directories(uptake_${name} PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
                                                   $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(uptake_${name} PUBLIC cxx_std_20)
  set_target_properties(uptake_${name} PROPERTIES EXPORT_NAME ${name})
  uptake_warnings(uptake_${name})
endfunction()

# uptake_install_library(NAME): installs the library and its headers, and puts it in the package
# that find_package(uptake) imports (cmake/uptakeConfig.cmake.in finds its dependencies).
function(uptake_install_library name)
  install(TARGETS uptake_${name} EXPORT uptakeTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()
