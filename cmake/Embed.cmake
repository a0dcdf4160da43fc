# cmake -DIN=file -DOUT=file.c -DSYMBOL=name -P Embed.cmake
#
# Writes the bytes of IN as a C array, so a binary blob (a descriptor set) can
# be linked into a program without xxd or any other tool.

file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n\t" body "${body}")
file(WRITE ${OUT}
"/* Generated from ${SYMBOL}.pb by Embed.cmake; do not edit. */\n"
"#include <stddef.h>\n"
"const unsigned char ${SYMBOL}[] = {\n\t${body}\n};\n"
"const size_t ${SYMBOL}_len = ${len};\n")
