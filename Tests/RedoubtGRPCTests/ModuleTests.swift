import RedoubtGRPC
import Testing
