"""A store shaped like a Rethinking study: two structured methods x three retraining pipelines
(retrain=finetune/scratch_e/scratch_b) x two sparsities x two seeds, every run sharing
"epochs=2 milestones=1", with per-layer keep ratios, learning curves and model sizes."""
import json

import pandas as pd

from registry.store import Store


def structured_store(home) -> None:
    runs, res, layers, epochs = [], [], [], []
    i = 0
    for method, base in (("l1_filter",92.0),("channel_scale",91.0)):
      for retrain in ("finetune","scratch_e","scratch_b"):
        for sp in (0.3,0.5):
          for seed in (0,1):
            k=f"{i:016x}"; i+=1
            var=f"retrain={retrain} epochs=2 milestones=1"
            runs.append(dict(key=k,kind="ticket",status="done",source="local",dataset="cifar10",model="vgg16_l1",method=method,check="none",sparsity=sp,seed=seed,variant=var,spec=json.dumps({"method":{"name":method,"retrain":retrain}})))
            acc=base-5*sp+{"finetune":0,"scratch_e":0.3,"scratch_b":0.6}[retrain]+0.1*seed
            res.append(dict(key=k,test_acc=acc,best_test_acc=acc+.2,collapsed=False,params=int(15e6*(1-sp)),flops=int(3e8*(1-sp)),dense_params=15000000,dense_flops=300000000))
            for idx in range(14):
              w=1000*(idx+1); kept=int(w*(1-sp)*(0.5+idx/28))
              layers.append(dict(key=k,idx=idx,layer=f"features.{idx}.weight",shape="[1]",weights=w,kept=kept,keep_ratio=kept/w))
            for e in range(1,5):
              epochs.append(dict(key=k,phase="retrain",epoch=e,train_acc=50+10*e,test_acc=48+9*e,train_loss=1/e,test_loss=1.1/e,lr=.1,seconds=1))
    for seed in (0,1):
        k=f"d{seed:015x}"
        runs.append(dict(key=k,kind="pretrain",status="done",source="local",dataset="cifar10",model="vgg16_l1",method="dense",check="none",sparsity=0.0,seed=seed,variant="epochs=2 milestones=1",spec="{}"))
        res.append(dict(key=k,test_acc=93.5,best_test_acc=93.6,collapsed=False,params=15000000,flops=300000000,dense_params=15000000,dense_flops=300000000))
    Store(home).add_new_runs({"runs":pd.DataFrame(runs),"results":pd.DataFrame(res),"layers":pd.DataFrame(layers),"epochs":pd.DataFrame(epochs)})
