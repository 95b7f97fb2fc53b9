namespace vsp {}
