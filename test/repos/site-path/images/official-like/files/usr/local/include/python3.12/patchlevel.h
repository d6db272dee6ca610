#define PY_MAJOR_VERSION        3
#define PY_MINOR_VERSION        12
#define PY_VERSION              "3.12.4"
