/// This module's types by a name other modules can re-export them under: there `Tensor.DType` would name
/// a member of the struct `Tensor`, not this module's `DType` (BrevityKit's vocabulary uses these).
public enum TensorModuleTypes {
    public typealias ElementType = DType
    public typealias Device = DeviceChoice
    public typealias GPU = CUDADevice
}
