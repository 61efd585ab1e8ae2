// GLIBC_MALLOC: 1 when malloc is glibc's, 0 in sanitizer builds, whose runtimes replace
// it (mallopt(), mallinfo2() and chunk sizes are then not glibc's).
#pragma once

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GLIBC_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GLIBC_MALLOC 0
#endif
#endif
#ifndef GLIBC_MALLOC
#define GLIBC_MALLOC 1
#endif
