// RunLabCommand (lab/command.h) for the `campaignq` built into the server
// image (target campaignq-without-lab): that binary is there for the image's
// HEALTHCHECK, and an image every server pod runs must not carry a tool that
// loads a database with contention. The full CLI is the campaignq/cli image.

#include <iostream>
#include <string>

#include "common/json_text.h"
#include "lab/command.h"

namespace campaignq::lab {

int RunLabCommand(const LabCommandInputs& inputs) {
  constexpr char kMessage[] =
      "this campaignq has no race lab (it is the server image's health probe); run `campaignq "
      "lab` from the campaignq/cli image or a build of your own";
  std::cerr << (inputs.json ? ErrorJson("USAGE", kMessage, 2) : std::string("error: ") + kMessage)
            << "\n";
  return 2;
}

}  // namespace campaignq::lab
