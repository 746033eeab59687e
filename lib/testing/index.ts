export { type ContractFramework, type StoreContractOptions, storeContract } from './store-contract';
