#include <boost/system/system_error.hpp>
#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "crypto/error.hpp"

namespace crypto = durationd::crypto;

TEST_CASE("Errc values are error codes of the crypto category", "[crypto][error]") {
  const boost::system::error_code code = crypto::Errc::no_key;
  CHECK(code.failed());
  CHECK(std::string(code.category().name()) == "durationd.crypto");
  CHECK(code.message() == "no key source applies");
  CHECK(code == crypto::make_error_code(crypto::Errc::no_key));
  CHECK(code != crypto::Errc::key_file_missing);
}

TEST_CASE("a failed Result throws its message from value()", "[crypto][error]") {
  const crypto::Result<int> failed =
      crypto::Error{crypto::Errc::invalid_argument, "one clear line"};
  REQUIRE(failed.has_error());
  try {
    static_cast<void>(failed.value());
    FAIL("value() did not throw");
  } catch (const boost::system::system_error& e) {
    CHECK(e.code() == crypto::Errc::invalid_argument);
    CHECK(std::string(e.what()).find("one clear line") != std::string::npos);
  }

  std::ostringstream out;
  out << failed.error();
  CHECK(out.str() == "one clear line");
}
