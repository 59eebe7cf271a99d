# Writes OUT (a header defining MVL_GIT_HASH) from the source tree's git HEAD, run at every
# build by the mvl_git_hash target; rewrites OUT only when the hash changes, so a build that
# changed nothing recompiles nothing. Outside a git checkout (a `git archive` tarball, as the
# fresh-machine check and release tarballs use) the hash comes from cmake/git_archive_hash.txt,
# which `git archive` fills in through .gitattributes (export-subst).
execute_process(COMMAND git -C "${SRC}" rev-parse --short=12 HEAD
                OUTPUT_VARIABLE hash OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rc ERROR_QUIET)
if(rc EQUAL 0 AND hash)
  execute_process(COMMAND git -C "${SRC}" diff --quiet HEAD -- RESULT_VARIABLE dirty ERROR_QUIET)
  if(NOT dirty EQUAL 0)
    string(APPEND hash "-dirty")
  endif()
else()
  file(READ "${SRC}/cmake/git_archive_hash.txt" hash)
  string(STRIP "${hash}" hash)
  if(hash MATCHES "Format")
    set(hash "unknown")
  endif()
endif()
set(content "#pragma once\n#define MVL_GIT_HASH \"${hash}\"\n")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL content)
  file(WRITE "${OUT}" "${content}")
endif()
