ExtlibNetCommand.runAndExit()
