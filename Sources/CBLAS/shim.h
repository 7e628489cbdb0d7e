// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). `make deps` installs it.
#include <cblas.h>
