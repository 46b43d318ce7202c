/* Prints the version of the OrbitMesh library it was linked with. The same file builds with
 * find_package(OrbitMesh) (CMakeLists.txt here) and with `pkg-config --cflags --libs orbitmesh`. */
#include <orbitmesh/orbitmesh.h>

#include <stdio.h>

int main(void)
{
    printf("OrbitMesh %s\n", om_version());
    return 0;
}
