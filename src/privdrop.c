/* PLACEHOLDER: replaced by the privilege-drop work. */
#include "bg96d/privdrop.h"
int privdrop(const char *user, const char *socket_dir, char *err, size_t errlen) { return 0; }
