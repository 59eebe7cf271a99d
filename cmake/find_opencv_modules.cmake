# Finds the three OpenCV modules vision/ uses (core, imgcodecs, imgproc) and sets OpenCV_LIBS,
# OpenCV_INCLUDE_DIRS and OpenCV_VERSION.
# Debian 12 splits OpenCV into per-module -dev packages (libopencv-core-dev, ...) that ship
# headers and libraries but no OpenCVConfig.cmake (that comes with libopencv-dev, which pulls
# in about 150 packages: VTK, Qt, ffmpeg). So: use OpenCV's own config when it is installed,
# otherwise find the headers and the three libraries directly.
find_package(OpenCV QUIET COMPONENTS core imgcodecs imgproc)
if(OpenCV_FOUND)
  message(STATUS "minimax-vl: OpenCV ${OpenCV_VERSION} (OpenCVConfig.cmake)")
  return()
endif()

find_path(MVL_OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
set(OpenCV_LIBS)
set(_mvl_cv_missing)
foreach(_m core imgcodecs imgproc)
  find_library(MVL_OPENCV_${_m}_LIBRARY NAMES opencv_${_m})
  if(MVL_OPENCV_${_m}_LIBRARY)
    list(APPEND OpenCV_LIBS ${MVL_OPENCV_${_m}_LIBRARY})
  else()
    list(APPEND _mvl_cv_missing libopencv-${_m}-dev)
  endif()
endforeach()
if(NOT MVL_OPENCV_INCLUDE_DIR)
  list(APPEND _mvl_cv_missing "OpenCV headers (opencv2/core.hpp)")
endif()
if(_mvl_cv_missing)
  list(JOIN _mvl_cv_missing ", " _mvl_cv_missing)
  message(FATAL_ERROR "minimax-vl: OpenCV not found (missing: ${_mvl_cv_missing}); install "
                      "libopencv-core-dev libopencv-imgcodecs-dev libopencv-imgproc-dev "
                      "(packaging/bootstrap.sh does) or configure with -DMVL_OPENCV=OFF (stb_image)")
endif()
set(OpenCV_INCLUDE_DIRS ${MVL_OPENCV_INCLUDE_DIR})
set(OpenCV_VERSION "")
file(STRINGS ${MVL_OPENCV_INCLUDE_DIR}/opencv2/core/version.hpp _mvl_cv_ver
     REGEX "#define CV_VERSION_(MAJOR|MINOR|REVISION) ")
foreach(_l ${_mvl_cv_ver})
  string(REGEX REPLACE ".* ([0-9]+).*" "\\1" _n "${_l}")
  list(APPEND OpenCV_VERSION ${_n})
endforeach()
list(JOIN OpenCV_VERSION "." OpenCV_VERSION)
message(STATUS "minimax-vl: OpenCV ${OpenCV_VERSION} (modules found directly: ${OpenCV_LIBS})")
