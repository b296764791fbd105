# Writes OUT: a C file with every file under SRC_DIR (the web console) as
# {path relative to SRC_DIR, bytes, length, strong ETag}, in path order.
# Run by the build whenever a file of web/ changes (see CMakeLists.txt).
file(GLOB_RECURSE files RELATIVE ${SRC_DIR} ${SRC_DIR}/*)
list(SORT files)
set(body "/* generated from web/ by scripts/embed_web.cmake */\n#include <stddef.h>\n#include \"console/console.h\"\n")
set(entries "")
set(i 0)
foreach(rel ${files})
  # skip editor droppings and hidden files
  if(rel MATCHES "(^|/)\\." OR rel MATCHES "~$")
    continue()
  endif()
  file(READ ${SRC_DIR}/${rel} hex HEX)
  file(SHA256 ${SRC_DIR}/${rel} sum)
  string(SUBSTRING "${sum}" 0 20 tag)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND body "static const unsigned char w${i}[] = {${hex}0x00};\n")
  string(APPEND entries "    {\"${rel}\", w${i}, sizeof w${i} - 1, \"\\\"${tag}\\\"\"},\n")
  math(EXPR i "${i}+1")
endforeach()
string(APPEND body "const console_file console_files[] = {\n${entries}    {NULL, NULL, 0, NULL}\n};\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
