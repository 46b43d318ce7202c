# Installs headers, the CMake package (find_package(OrbitMesh) -> OrbitMesh::orbitmesh) and
# orbitmesh.pc. Targets install themselves where they are defined.
include(CMakePackageConfigHelpers)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/abi/include/orbitmesh" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS orbitmesh om_headers EXPORT OrbitMeshTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT OrbitMeshTargets NAMESPACE OrbitMesh:: DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/OrbitMesh")

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/OrbitMeshConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/OrbitMeshConfig.cmake"
  INSTALL_DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/OrbitMesh"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/OrbitMeshConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/OrbitMeshConfig.cmake" "${PROJECT_BINARY_DIR}/OrbitMeshConfigVersion.cmake"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/OrbitMesh")

# The .pc file finds its prefix from its own location, so a relocated install still works.
file(RELATIVE_PATH OM_PC_PREFIX_FROM_PCFILEDIR "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/$" "" OM_PC_PREFIX_FROM_PCFILEDIR "${OM_PC_PREFIX_FROM_PCFILEDIR}")
configure_file("${PROJECT_SOURCE_DIR}/cmake/orbitmesh.pc.in" "${PROJECT_BINARY_DIR}/orbitmesh.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/orbitmesh.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
