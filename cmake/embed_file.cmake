# Generates a C file holding one file's bytes as `const char SYM[]` (NUL
# terminated) and `const size_t SYM_len`, so the binary needs no data files
# at run time (used for config/prices.json).
# Invoked as: cmake -DIN=... -DOUT=... -DSYM=... -P embed_file.cmake
file(READ ${IN} hex HEX)
file(SIZE ${IN} size)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
get_filename_component(name ${IN} NAME)
file(WRITE ${OUT}.tmp "/* Generated from ${name} by cmake/embed_file.cmake. */\n#include <stddef.h>\n\nconst char ${SYM}[] = {${hex}0x00};\nconst size_t ${SYM}_len = ${size};\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
